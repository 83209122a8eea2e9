import { Cron } from "croner";
import { defaultScheduleZone, type Schedule } from "../sources/entra/config.ts";

/**
 * When a source's next scheduled run is due (null when the schedule is off). Pure. A cron expression's hours are in
 * its time zone, UTC when it names none: never the server's own zone, which the console cannot know.
 */
export function nextRunAt(schedule: Schedule | null, from: Date): Date | null {
  if (!schedule) return null;
  if ("everyMs" in schedule) return new Date(from.getTime() + schedule.everyMs);
  try {
    return new Cron(schedule.cron, { paused: true, timezone: schedule.timeZone ?? defaultScheduleZone }).nextRun(from) ?? null;
  } catch {
    return null; // saved before cron expressions were checked: never due (changing the schedule checks it)
  }
}
