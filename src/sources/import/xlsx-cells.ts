// A cell's value as the text Excel shows: the cell-value half of the .xlsx reader (xlsx.ts streams the sheet).
import { formatNumber, plainNumber } from "./cell-format.ts";

/**
 * `text` in a string of its own. The scanner hands out text as slices of the chunk it is reading, and V8 keeps a
 * slice's whole chunk (64 KB) alive: emails kept to find duplicates held on to every chunk of a sheet, 50 MB
 * for 100,000 rows, which the garbage collector then marked again and again. V8 copies slices shorter than 13
 * characters anyway; a concatenation, once sliced, is flattened into a new string.
 */
export function detached(text: string): string {
  return text.length < 13 ? text : (" " + text).slice(1);
}

/** A cell of type `type` (the `t` attribute) holding `raw`, shown through its number format `format`. */
export function cellText(type: string, raw: string, format: string, context: { sharedStrings: string[]; date1904: boolean }): string {
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
