/**
 * An instant as a clock in `timeZone` shows it, "2026-12-07 06:00 Europe/Berlin": a cron schedule's next run in the
 * zone its expression is read in, so "0 6 * * *" reads as 06:00. Outside UTC, the UTC instant follows, for logs.
 */
export function wallClock(iso: string, timeZone: string): string {
  const instant = new Date(iso);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  const shown = `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${timeZone}`;
  return timeZone === "UTC" ? shown : `${shown}, ${instant.toISOString().replace(/:00\.000Z$/, "Z")}`;
}
