const units = [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const;

/** "24h", "30m", "7d", "90s" → milliseconds. */
export function parseInterval(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = units.find(([u]) => u === m[2]!.toLowerCase())![1];
  return Math.round(Number(m[1]) * unit);
}

/** Milliseconds as parseInterval reads them, in the largest unit that divides them: "5m", "12h", "7d", "90s". */
export function formatInterval(ms: number): string {
  const [unit, size] = units.find(([, size]) => ms % size === 0) ?? ["s", 1000];
  return `${ms % size === 0 ? ms / size : (ms / size).toFixed(1)}${unit}`;
}
