/** How the console writes counts and times. Pure. */

/** "1 user", "2,402 users". */
export function countOf(n: number, word: string): string {
  return `${n.toLocaleString()} ${plural(n, word)}`;
}

/** "row", "rows": a word for n of them, where the number is set apart (bold) from it. */
export function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}

/**
 * A name set inside a sentence, isolated (U+2068 … U+2069, Unicode's first-strong isolate) so a right-to-left one
 * does not carry the punctuation and numbers after it into its own direction ("Added to المبيعات: 2 users").
 */
export function isolate(text: string): string {
  return `\u2068${text}\u2069`;
}

/** "312 bytes", "4.2 KB", "13 MB": a file's size as people read it. */
export function fileSize(bytes: number): string {
  if (bytes < 1024) return countOf(bytes, "byte");
  const [value, unit] = bytes < 1024 * 1024 ? [bytes / 1024, "KB"] : [bytes / (1024 * 1024), "MB"];
  return `${value.toLocaleString(undefined, { maximumFractionDigits: value < 10 ? 1 : 0 })} ${unit}`;
}

export function formatDate(iso: string | null | undefined, withTime = true): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return withTime
    ? date.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" })
    : date.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

export function relativeTime(iso: string | null | undefined): string {
  if (!iso) return "never";
  const diff = new Date(iso).getTime() - Date.now();
  const abs = Math.abs(diff);
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ["day", 86_400_000],
    ["hour", 3_600_000],
    ["minute", 60_000],
  ];
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  for (const [unit, ms] of units) if (abs >= ms) return rtf.format(Math.round(diff / ms), unit);
  return diff < 0 ? "just now" : "in a moment";
}
