import { Cron } from "croner";
import type { Schedule } from "../sources/entra/config.ts";

/** When a source's next scheduled run is due (null when the schedule is off). Pure. */
export function nextRunAt(schedule: Schedule | null, from: Date): Date | null {
  if (!schedule) return null;
  if ("everyMs" in schedule) return new Date(from.getTime() + schedule.everyMs);
  return new Cron(schedule.cron, { paused: true }).nextRun(from) ?? null;
}

export function isValidCron(expression: string): boolean {
  try {
    new Cron(expression, { paused: true });
    return true;
  } catch {
    return false;
  }
}
