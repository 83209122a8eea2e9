import { Cron } from "croner";
import type { Schedule } from "../sources/entra/config.ts";

/** When a source's next scheduled run is due (null when the schedule is off). Pure. */
export function nextRunAt(schedule: Schedule | null, from: Date): Date | null {
  if (!schedule) return null;
  if ("everyMs" in schedule) return new Date(from.getTime() + schedule.everyMs);
  try {
    return new Cron(schedule.cron, { paused: true }).nextRun(from) ?? null;
  } catch {
    return null; // saved before cron expressions were checked: never due (changing the schedule checks it)
  }
}
